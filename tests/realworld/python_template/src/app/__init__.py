import logging

from pedros.logger import setup_logging

setup_logging(level=logging.INFO)
