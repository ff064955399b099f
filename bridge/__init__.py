"""sisumaker-bridge: follows Diskominfo's application-development SOP through Sisumaker."""

__version__ = "0.1.0"
