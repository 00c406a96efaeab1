__version__ = "2.0.12"

from .dependency import create_redis_client_dependencies
from .exceptions import (
    AtomicUpdateError,
    DeserializationError,
    NotFoundError,
    RepositoryError,
    ResultModelCreationError,
    SerializationError,
    TransientRepositoryError,
)
from .manager import RedisManager
from .models import BaseResultModel
from .repository import BaseRepository

__all__ = [
    "RedisManager",
    "create_redis_client_dependencies",
    "BaseRepository",
    "BaseResultModel",
    "RepositoryError",
    "SerializationError",
    "DeserializationError",
    "NotFoundError",
    "ResultModelCreationError",
    "TransientRepositoryError",
    "AtomicUpdateError",
]
