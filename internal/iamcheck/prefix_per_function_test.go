package iamcheck

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestNoFunctionMayDeleteAnotherFunctionsResources: the functions of one account (the
// recovery account: dr-recovery, dr-steps, dr-sanitize and the dr-failover policy) each have
// a prefix of their own, so that no function's role may delete or tag what another function
// created (issue 21: "no function may delete or share what it did not create"; the "IAM"
// table of docs/RELIABILITY.md). Two functions whose deleting statements name overlapping
// RDS identifiers can each delete the other's resources: the tag conditions do not help
// when both may tag the same names, or when both look for the same tag value.
func TestNoFunctionMayDeleteAnotherFunctionsResources(t *testing.T) {
	byFunction := map[string][]Statement{}
	for _, name := range []string{"dr-recovery", "dr-steps", "dr-sanitize"} {
		f := filepath.Join("../../examples", name, "template.yaml")
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sts, err := FromTemplate(name, raw)
		if err != nil {
			t.Fatal(err)
		}
		byFunction[name] = sts
	}
	byFunction["dr-failover"] = failoverPolicy(t)

	// patterns of RDS resources each function may delete ("kind:name-pattern").
	deletes := map[string][]string{}
	for fn, sts := range byFunction {
		for _, st := range sts {
			if st.Effect != "Allow" {
				continue
			}
			del := false
			for _, a := range st.Action {
				if strings.HasPrefix(a, "rds:Delete") {
					del = true
				}
			}
			if !del {
				continue
			}
			for _, r := range st.Resource {
				r = strings.NewReplacer("${AWS::Partition}", "aws", "${AWS::Region}", "region", "${AWS::AccountId}", "account").Replace(r)
				parts := strings.SplitN(r, ":", 7)
				if len(parts) == 7 && parts[2] == "rds" {
					deletes[fn] = append(deletes[fn], parts[5]+":"+parts[6])
				}
			}
		}
	}
	overlap := func(a, b string) bool {
		ka, pa, _ := strings.Cut(a, ":")
		kb, pb, _ := strings.Cut(b, ":")
		if ka != kb {
			return false
		}
		la, wa := strings.CutSuffix(pa, "*")
		lb, wb := strings.CutSuffix(pb, "*")
		switch {
		case wa && wb:
			return strings.HasPrefix(la, lb) || strings.HasPrefix(lb, la)
		case wa:
			return strings.HasPrefix(lb, la)
		case wb:
			return strings.HasPrefix(la, lb)
		}
		return la == lb
	}
	var fns []string
	for fn := range deletes {
		fns = append(fns, fn)
	}
	sort.Strings(fns)
	if len(fns) < 3 {
		t.Fatalf("read the deleting statements of only %v", fns)
	}
	for i, a := range fns {
		for _, b := range fns[i+1:] {
			for _, ra := range deletes[a] {
				for _, rb := range deletes[b] {
					if overlap(ra, rb) {
						t.Errorf("%s may delete %s and %s may delete %s: each may delete what the other created", a, ra, b, rb)
					}
				}
			}
		}
	}
}
