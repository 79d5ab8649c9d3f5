-- Argo CD health of a flowops object, read from its kstatus conditions.
-- One rule for Environment, Flow, Promotion, Application and ApiClient (docs/health.md):
--   generation not yet observed -> Progressing
--   Stalled=True                -> Degraded   (only a person can fix it; the message says how)
--   Reconciling=True            -> Progressing
--   Ready=True                  -> Healthy
--   Ready=Unknown or absent     -> Progressing
--   Ready=False                 -> Suspended  (waiting for a person, not broken: a Promotion
--                                              awaiting approval, a Manual flow awaiting a commit)
local hs = {}
local status = obj.status
local generation = obj.metadata.generation
if status == nil or status.observedGeneration == nil or (generation ~= nil and status.observedGeneration ~= generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the flowops operator to observe generation " .. tostring(generation or "?")
  return hs
end
local found = {}
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    found[condition.type] = condition
  end
end
local stalled, reconciling, ready = found["Stalled"], found["Reconciling"], found["Ready"]
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "Stalled") .. ": " .. (stalled.message or "")
  return hs
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = reconciling.message or "Reconciling"
  return hs
end
if ready == nil or ready.status == "Unknown" then
  hs.status = "Progressing"
  hs.message = (ready ~= nil and ready.message) or "Waiting for the Ready condition"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
else
  hs.status = "Suspended"
end
hs.message = (ready.reason or "") .. ": " .. (ready.message or "")
return hs
