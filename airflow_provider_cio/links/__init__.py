"""Reports people can open: short-lived read-only SAS URLs, the operator links and the API-server route that mint
them on click (so no secret-bearing URL is ever stored in XCom or written to a task log)."""
