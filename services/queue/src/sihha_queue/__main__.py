"""`python -m sihha_queue`: serve the queue service (settings from QUEUE_* variables)."""

from sihha_kit.serve import serve
from sihha_queue.bootstrap import create_app
from sihha_queue.config import QueueSettings

if __name__ == "__main__":
    settings = QueueSettings()
    serve(create_app(settings), settings)
