-- Argo CD health check for D365Connection and ClusterD365Identity (d365.operators.dev/v1alpha1).
-- Install it in argocd-cm under the keys
--   resource.customizations.health.d365.operators.dev_D365Connection
--   resource.customizations.health.d365.operators.dev_ClusterD365Identity
-- (see docs/gitops.md). Tested by test/gitops with the Lua interpreter Argo CD uses. An
-- identity has no spec.suspend and no Reconciling: Healthy, Progressing or Degraded.
--
--   Suspended    spec.suspend is true: the operator touches nothing
--   Progressing  no status yet, an older generation, or Reconciling=True (retrying by itself)
--   Degraded     Stalled=True, or Ready=False without Reconciling: nothing changes until you act
--   Healthy      Ready=True for the current generation
local hs = { status = "Progressing", message = "Waiting for the d365-operator to reconcile" }

if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "spec.suspend is true: the token is no longer refreshed"
  return hs
end

if obj.status == nil or obj.status.conditions == nil then
  return hs
end

-- A status written for an older spec says nothing about the current one.
local generation = obj.metadata.generation
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  hs.message = "Waiting for the d365-operator to observe generation " .. generation
  return hs
end

local ready, reconciling, stalled
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then
    ready = c
  elseif c.type == "Reconciling" then
    reconciling = c
  elseif c.type == "Stalled" then
    stalled = c
  end
end

local function describe(c)
  local text = c.reason or ""
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling)
  return hs
end
if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end
return hs
