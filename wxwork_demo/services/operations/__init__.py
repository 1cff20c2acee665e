"""What an operator watches: readiness (`readiness.py`)."""
