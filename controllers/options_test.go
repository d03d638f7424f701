/*
Copyright 2026 The tiktok-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package controllers

import (
	"reflect"
	"testing"
)

// Every production default is written once, in DefaultOptions: withDefaults fills each zero field with
// DefaultOptions' value (the manager's flags read the same values). A field given a default in
// withDefaults but not in DefaultOptions, or the other way round, fails here.
func TestDefaultOptionsAreTheDefaults(t *testing.T) {
	// Defaults that are not values: every account, the real clock, a per-process name, and the HTTP
	// plumbing and jitter source, whose defaults are built where they are used.
	notValues := map[string]bool{"AccountSelector": true, "Clock": true, "Identity": true,
		"APITransport": true, "MediaClient": true, "Rand": true}
	def, filled := reflect.ValueOf(DefaultOptions()), reflect.ValueOf(Options{}.withDefaults())
	typ := def.Type()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		if notValues[name] {
			if !def.Field(i).IsZero() {
				t.Errorf("DefaultOptions().%s is set; it is listed here as a default that is not a value", name)
			}
			continue
		}
		if def.Field(i).IsZero() {
			t.Errorf("DefaultOptions().%s is zero: give it its production default there (or list it in notValues)", name)
			continue
		}
		if got, want := filled.Field(i).Interface(), def.Field(i).Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("Options{}.withDefaults().%s = %v, DefaultOptions().%s = %v", name, got, name, want)
		}
	}
}
