"""`python -m sihha_reporting`: serve the reporting service (REPORTING_* variables)."""

from sihha_kit.serve import serve
from sihha_reporting.bootstrap import create_app
from sihha_reporting.config import ReportingSettings

if __name__ == "__main__":
    settings = ReportingSettings()
    serve(create_app(settings), settings)
