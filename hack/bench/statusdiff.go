package main

import (
	"reflect"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// statusChanges names what a status write changed ("tokenExpiresAt",
// "conditions[Ready].message", ...): when a connection is written more often than the
// targets allow, this says which field moved.
func statusChanges(before, after *v1alpha1.D365ConnectionStatus) []string {
	var out []string
	bv, av := reflect.ValueOf(*before), reflect.ValueOf(*after)
	t := bv.Type()
	for i := range t.NumField() {
		name := jsonName(t.Field(i))
		if name == "conditions" {
			out = append(out, conditionChanges(before.Conditions, after.Conditions)...)
			continue
		}
		if !reflect.DeepEqual(bv.Field(i).Interface(), av.Field(i).Interface()) {
			out = append(out, name)
		}
	}
	return out
}

func conditionChanges(before, after []metav1.Condition) []string {
	index := func(cs []metav1.Condition) map[string]metav1.Condition {
		m := map[string]metav1.Condition{}
		for _, c := range cs {
			m[c.Type] = c
		}
		return m
	}
	b, a := index(before), index(after)
	var out []string
	for typ, ac := range a {
		bc, ok := b[typ]
		switch {
		case !ok:
			out = append(out, "conditions["+typ+"] added")
		case bc.Status != ac.Status || bc.Reason != ac.Reason:
			out = append(out, "conditions["+typ+"]."+string(ac.Status)+"/"+ac.Reason)
		case bc.Message != ac.Message:
			out = append(out, "conditions["+typ+"].message")
		case !bc.LastTransitionTime.Equal(&ac.LastTransitionTime) || bc.ObservedGeneration != ac.ObservedGeneration:
			out = append(out, "conditions["+typ+"].time")
		}
	}
	for typ := range b {
		if _, ok := a[typ]; !ok {
			out = append(out, "conditions["+typ+"] removed")
		}
	}
	sort.Strings(out)
	return out
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	for i := range len(tag) {
		if tag[i] == ',' {
			return tag[:i]
		}
	}
	if tag == "" {
		return f.Name
	}
	return tag
}
