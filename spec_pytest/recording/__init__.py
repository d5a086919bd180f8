"""Cassettes: where each exchange is recorded, how a replay matches it, what reaches disk.

`cassettes` is the policy (layout, matching, scrubbing, record modes) and the vcrpy glue;
`tape` and `transport` record per request context for the concurrent fan-out.
"""
