"""The recording tools: one registry (``registry``) and the adapters generated from it.

``mcp`` serves the registry over MCP, ``http`` as ``POST /api/v1/tools/<name>`` plus
``openapi.json`` (routes in ``urls``). Adapters only translate; the work is in
``tracking.services`` and ``tracking.civitai_import``.
"""
