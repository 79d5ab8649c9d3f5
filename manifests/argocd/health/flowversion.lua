-- Argo CD health of a FlowVersion: an immutable record the operator writes (no generation
-- to observe, no conditions). Its guardrail verdict is status.ready.
local hs = {}
local origin = (obj.spec ~= nil and obj.spec.origin) or "Commit"
if origin == "Quarantine" then
  hs.status = "Healthy"
  hs.message = "Quarantined direct edit of a protected flow, kept for the record; never HEAD"
  return hs
end
if obj.status == nil or obj.status.ready == nil then
  hs.status = "Progressing"
  hs.message = "Guardrails not evaluated yet"
  return hs
end
if obj.status.ready == true then
  hs.status = "Healthy"
  hs.message = "Passed every guardrail"
  return hs
end
local failed = {}
if obj.status.guardrails ~= nil then
  for _, result in ipairs(obj.status.guardrails) do
    if result.passed == false then
      table.insert(failed, result.rule)
    end
  end
end
hs.status = "Degraded"
hs.message = "Failed guardrails (never HEAD): " .. table.concat(failed, ", ")
return hs
