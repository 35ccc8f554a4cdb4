"""Storage backends of the server behind one interface (``Storage``)."""

from .base import CampaignRow, DeviceAuth, Storage, UserRow
from .sqlite import SQLiteStorage

__all__ = ["CampaignRow", "DeviceAuth", "SQLiteStorage", "Storage", "UserRow"]
