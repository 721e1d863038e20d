"""Chart acquisition: the crawl client, downloads, record models and the loopback chart server.

The chart API has the shape of the seed's third-party Douyin chart (section 3.1.1):
``search?keyword=&page=&size=&orderby=&incr_type=&order=`` answers ``{"data": {"list": [...]}}``
and ``getPlayUrl?music_id=`` answers ``{"data": "<mp3 url or empty>"}``.
"""

from .client import AuthError, ChartClient, ChartError
from .crawl import CrawlSummary, crawl, history
from .download import DownloadSummary, download
from .models import ChartItem
from .server import ChartServer, serve_chart

__all__ = ["AuthError", "ChartClient", "ChartError", "ChartItem", "ChartServer", "CrawlSummary",
           "DownloadSummary", "crawl", "download", "history", "serve_chart"]
