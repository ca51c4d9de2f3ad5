"""Services citizens ask about around a procedure (issue 14): paying fees, old ward → new ward, VNeID.

Facts live in `knowledge/services/*.yml` (curated, sourced, dated); this package reads them,
validates them (errors name the file and the field) and builds the replies. App environment only.
"""

from bot.services.loader import ServicesError, load_services, validate_services_dir
from bot.services.models import Services

__all__ = ["Services", "ServicesError", "load_services", "validate_services_dir"]
