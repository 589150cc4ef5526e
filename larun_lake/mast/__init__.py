"""Everything LARUN Lake sends to MAST: metadata through astroquery, downloads with our own client."""

from .client import MastClient
from .download import DownloadJob, DownloadResult, download_all, download_url
from .retry import RetryPolicy

__all__ = ["DownloadJob", "DownloadResult", "MastClient", "RetryPolicy", "download_all", "download_url"]
