"""Label and annotation keys: the operator's vocabulary on objects."""

PREFIX = "flowops.io"

# On FlowVersions (metadata, so versions can be listed without their content).
LABEL_FLOW = f"{PREFIX}/flow"
LABEL_VERSION = f"{PREFIX}/version"
LABEL_NUMBER = f"{PREFIX}/number"
LABEL_READY = f"{PREFIX}/ready"
ANN_CONTENT_HASH = f"{PREFIX}/content-hash"
ANN_BASE = f"{PREFIX}/base"
ANN_ORIGIN = f"{PREFIX}/origin"
ANN_COMMIT_REQUEST = f"{PREFIX}/commit-request"
ANN_PROMOTION_UID = f"{PREFIX}/promotion-uid"
# The landing Promotion's name and spec hash: a re-created copy of it finds its result.
ANN_PROMOTION_NAME = f"{PREFIX}/promotion-name"
ANN_PROMOTION_SPEC_HASH = f"{PREFIX}/promotion-spec-hash"
ANN_RULES_DIGEST = f"{PREFIX}/rules-digest"
# A short guardrail summary, so status needs no read of the version's content.
ANN_GUARDRAILS = f"{PREFIX}/guardrails"
# The Flow's metadata.generation the version was committed from: a writer holding an older
# view of the Flow than an existing version must not commit it.
ANN_GENERATION = f"{PREFIX}/flow-generation"
# The Flow object (uid) a version was committed from: generations compare only within one object.
ANN_FLOW_UID = f"{PREFIX}/flow-uid"
# On Quarantine versions: the field manager that wrote the edit, and how often it came back.
ANN_FIELD_MANAGER = f"{PREFIX}/field-manager"
ANN_REAPPLIED = f"{PREFIX}/reapplied"

# On Flows, written by users.
ANN_CHANGE_CAUSE = f"{PREFIX}/change-cause"
# Who last wrote the object's spec: set by the API server (a MutatingAdmissionPolicy), never typed.
ANN_CHANGED_BY = f"{PREFIX}/changed-by"
# On bindings, with it: whether that writer could approve Promotions there ("true"/"false").
ANN_CHANGED_BY_APPROVER = f"{PREFIX}/changed-by-approver"
# And that writer's groups, a JSON list (each quoted: a group's name may hold a comma).
ANN_CHANGED_BY_GROUPS = f"{PREFIX}/changed-by-groups"
ANN_COMMIT = f"{PREFIX}/commit"
# On Flows, written by the operator when a Promotion lands (JSON provenance).
ANN_PROMOTION = f"{PREFIX}/promotion"

# On ConfigMaps materialised for ApiClients.
LABEL_APICLIENT = f"{PREFIX}/apiclient"
LABEL_MATERIALISED = f"{PREFIX}/materialised"

FIELD_MANAGER = "flowops-operator"
