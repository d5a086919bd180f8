"""What a run leaves behind and what is read from it: result records, the baseline gate,
the cross-model analysis, the end-of-run summary and the reports.
"""
