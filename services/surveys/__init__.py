"""The satisfaction survey a family answers after a visit (SUMANTAB / IKM): ``answers`` (one
answer and its checks), ``summary`` (a month's answers summed up as the national IKM formula does)
and ``service`` (who may answer, recorded with its audit event)."""
