-- Argo CD health of a TikTokPost (publish.tiktok-operator.dev/v1alpha1).
--
-- Argo CD runs custom health checks without Lua's string library, so this script only compares and
-- concatenates. It reads what the operator writes: status.observedGeneration, status.phase and the
-- kstatus conditions (Ready always; Reconciling and Stalled only while True; Throttled while True).
--
--   Published, Delivered              -> Healthy
--   Failed, or Stalled=True           -> Degraded   (needs a human: see docs/troubleshooting.md)
--   Ready reason Suspended            -> Suspended  (spec.suspend, or its AccountQuota is suspended)
--   anything else (Pending, Scheduled,
--   Queued, Publishing, Processing)   -> Progressing
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

local hs = {status = "Progressing", message = "Waiting for the operator to pick up the post"}
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
local throttled = condition(st, "Throttled")

if st.phase == "Published" or st.phase == "Delivered" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  if st.postIDs ~= nil and #st.postIDs > 0 then
    hs.message = hs.message .. " (post id " .. st.postIDs[1] .. ")"
  end
  return hs
end
if st.phase == "Failed" or (stalled ~= nil and stalled.status == "True") then
  hs.status = "Degraded"
  if stalled ~= nil then
    hs.message = describe(stalled)
  else
    hs.message = "Failed: " .. describe(ready)
  end
  return hs
end
if ready ~= nil and ready.reason == "Suspended" then
  hs.status = "Suspended"
  hs.message = describe(ready)
  return hs
end

local phase = st.phase or "Pending"
hs.message = phase
if ready ~= nil then
  hs.message = phase .. ": " .. describe(ready)
end
if throttled ~= nil and throttled.status == "True" then
  hs.message = hs.message .. " (throttled)"
end
return hs
