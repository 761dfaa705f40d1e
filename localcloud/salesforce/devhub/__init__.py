"""The local org as a Dev Hub (design: ``localcloud/salesforce/http/README.md``, "The local Dev Hub").

    hub = DevHub(org_dir / "devhub", certificates.server_context())
    org = start_local_org(org_dir, wrap_app=lambda app, context: DevHubApp(app, context, hub))
"""
from localcloud.salesforce.devhub.hub import DevHub, DevHubApp, DevHubError

__all__ = ["DevHub", "DevHubApp", "DevHubError"]
