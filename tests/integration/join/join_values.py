"""Values the join integration fixtures and tests share."""

TOKEN = "abcdef.0123456789abcdef"
POD_CIDR = "10.244.0.0/16"
