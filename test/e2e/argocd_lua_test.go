package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Argo CD's health status codes: a script that returns anything else is shown as Unknown.
var argoHealthCodes = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

// argoHealth is what a health.lua returns.
type argoHealth struct {
	Status, Message string
}

// runArgoHealthLua evaluates a health script the way Argo CD evaluates a custom check from argocd-cm
// (util/lua in argo-cd): a fresh gopher-lua state without the standard libraries except package, base and
// table (Argo CD adds a trimmed os library, which these scripts do not use, so leaving it out is stricter),
// the live object converted to a Lua table as the global obj, and the script's return value read as a
// table with the string fields status and message. A status outside Argo CD's codes reads as Unknown,
// as in Argo CD; the test treats that as a failure of the script.
func runArgoHealthLua(script string, obj map[string]any) (argoHealth, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return argoHealth{}, fmt.Errorf("opening the Lua library %s: %w", lib.name, err)
		}
	}
	// Argo CD stops a script after a second; this guard only catches a script that never ends.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", luaValue(l, obj))
	if err := l.DoString(script); err != nil {
		return argoHealth{}, fmt.Errorf("running the health script: %w", err)
	}
	tbl, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return argoHealth{}, fmt.Errorf("the health script returned a %s, Argo CD wants a table", l.Get(-1).Type())
	}
	status, ok1 := tbl.RawGetString("status").(lua.LString)
	message, ok2 := tbl.RawGetString("message").(lua.LString)
	if !ok1 || (!ok2 && tbl.RawGetString("message") != lua.LNil) {
		return argoHealth{}, fmt.Errorf("the health script returned status %v, message %v: both must be strings",
			tbl.RawGetString("status"), tbl.RawGetString("message"))
	}
	if !argoHealthCodes[string(status)] {
		return argoHealth{Status: "Unknown", Message: "Lua returned an invalid health status " + string(status)}, nil
	}
	return argoHealth{Status: string(status), Message: string(message)}, nil
}

// luaValue converts a decoded JSON object (as Argo CD holds a live resource: unstructured, integers as
// int64) into Lua values the way Argo CD does: objects and arrays become tables, numbers LNumber.
func luaValue(l *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case string:
		return lua.LString(x)
	case int64:
		return lua.LNumber(x)
	case int:
		return lua.LNumber(x)
	case int32:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case []any:
		t := l.CreateTable(len(x), 0)
		for _, item := range x {
			t.Append(luaValue(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(x))
		for k, item := range x {
			t.RawSetH(lua.LString(k), luaValue(l, item))
		}
		return t
	}
	return lua.LNil
}

// repoFile reads a file of the repository by its path from the root.
func repoFile(rel string) ([]byte, error) { return os.ReadFile(repoPath(rel)) }

// repoPath is the file path of a file of the repository given by its path from the root.
func repoPath(rel string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", filepath.FromSlash(rel))
}
