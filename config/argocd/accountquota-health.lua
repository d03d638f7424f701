-- Argo CD health of an AccountQuota (publish.tiktok-operator.dev/v1alpha1).
--
-- Argo CD runs custom health checks without Lua's string library, so this script only compares and
-- concatenates. It reads the kstatus conditions the operator writes: Ready always; Reconciling and
-- Stalled only while True; Throttled while an unexpected 429 cools the account down.
--
--   Stalled=True (credentials missing or invalid, banned, creator_info refused) -> Degraded
--   spec.suspend (observed by the operator)                                     -> Suspended
--   Reconciling=True (a token write pending, creator_info not fetched yet, ...) -> Progressing
--   Ready=True                                                                  -> Healthy
--     (a Throttled account stays Healthy: the cooldown ends by itself; the message says so)
--   anything else                                                               -> Progressing
local function condition(st, kind)
  if st == nil or st.conditions == nil then
    return nil
  end
  for _, c in ipairs(st.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function describe(c)
  if c == nil then
    return ""
  end
  local msg = c.reason or ""
  if c.message ~= nil and c.message ~= "" then
    msg = msg .. ": " .. c.message
  end
  return msg
end

local hs = {status = "Progressing", message = "Waiting for the operator to pick up the account"}
local st = obj.status
if st == nil then
  return hs
end
local gen = obj.metadata.generation
if gen ~= nil and (st.observedGeneration == nil or st.observedGeneration < gen) then
  hs.message = "Waiting for the operator to observe generation " .. gen
  return hs
end

local ready = condition(st, "Ready")
local stalled = condition(st, "Stalled")
local reconciling = condition(st, "Reconciling")
local throttled = condition(st, "Throttled")

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end
if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "spec.suspend is true: no post of this account is sent"
  return hs
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling)
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  if throttled ~= nil and throttled.status == "True" then
    hs.message = hs.message .. "; throttled: " .. describe(throttled)
  end
  return hs
end
if ready ~= nil then
  hs.message = describe(ready)
end
return hs
