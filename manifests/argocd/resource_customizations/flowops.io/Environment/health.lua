-- Argo CD health of a flowops object, read from its kstatus conditions.
-- One rule for Environment, Flow, Promotion, Application and ApiClient (docs/health.md):
--   generation not yet observed        -> Progressing
--   Stalled=True                       -> Degraded   (only a person can fix it; the message says how)
--   Reconciling=True                   -> Progressing
--   Ready=True                         -> Healthy
--   Ready=False or Unknown             -> Progressing (kstatus: InProgress)
--   no Ready, a condition False        -> Suspended  (waiting for a person's go-ahead, no fault:
--                                                     a Promotion awaiting approval)
--   no Ready, nothing False            -> Progressing
local hs = {}
local status = obj.status
local generation = obj.metadata.generation
if status == nil or status.observedGeneration == nil or (generation ~= nil and status.observedGeneration ~= generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the flowops operator to observe generation " .. tostring(generation or "?")
  return hs
end
local found = {}
local waiting = nil
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    -- A hand-written condition without a type is skipped, not an error of the whole check.
    if condition.type ~= nil then
      found[condition.type] = condition
      if condition.status == "False" and waiting == nil then
        waiting = condition
      end
    end
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
if ready == nil then
  if waiting ~= nil then
    hs.status = "Suspended"
    hs.message = (waiting.reason or "") .. ": " .. (waiting.message or "")
  else
    hs.status = "Progressing"
    hs.message = "Waiting for the Ready condition"
  end
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
else
  hs.status = "Progressing"
end
hs.message = (ready.reason or "") .. ": " .. (ready.message or "")
return hs
