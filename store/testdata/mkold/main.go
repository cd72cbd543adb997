// Command mkold writes old.db, the store file TestMigrateOldStore opens: a
// store as paasd wrote it before users existed, when every key was an
// admin and apps had no owner. It is built against the store package of
// that time (commit 7bb8e81), not this one:
//
//	git archive 7bb8e81 | tar -x -C /tmp/old
//	cp -r store/testdata/mkold /tmp/old/store/testdata/
//	cd /tmp/old && go run ./store/testdata/mkold /path/to/store/testdata/old.db
package main

import (
	"log"
	"os"
	"time"

	"paas"
	"paas/store"
)

func main() {
	path := os.Args[1]
	st, err := store.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, k := range []paas.Key{
		// As PAAS_AUTHORIZED_KEYS admitted them: named by their comment.
		{Name: "Alice@laptop", Fingerprint: "SHA256:alice1", PublicKey: "ssh-ed25519 AAAAalice1 Alice@laptop", Admin: true, AddedAt: at},
		{Name: "Alice@laptop", Fingerprint: "SHA256:alice2", PublicKey: "ssh-ed25519 AAAAalice2 Alice@laptop", Admin: true, AddedAt: at.Add(time.Hour)},
		// As paasd keys:add NAME added it, with options.
		{Name: "ci", Fingerprint: "SHA256:ci", PublicKey: "ssh-ed25519 AAAAci", Options: []string{`from="10.0.0.0/8"`}, Admin: true, AddedAt: at},
		// A key without a comment.
		{Name: "admin", Fingerprint: "SHA256:anon", PublicKey: "ssh-ed25519 AAAAanon", Admin: true, AddedAt: at},
	} {
		if err := st.PutKey(k); err != nil {
			log.Fatal(err)
		}
	}
	must := func(err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	_, err = st.CreateApp("blog", "Alice@laptop")
	must(err)
	n, err := st.ReserveBuild("blog")
	must(err)
	_, err = st.Deploy("blog", paas.Build{Number: n, Commit: "abc", Slug: "img"}, "Alice@laptop")
	must(err)
	_, err = st.ChangeConfig("blog", map[string]string{"GREETING": "hi"}, nil, "ci")
	must(err)
	_, err = st.CreateApp("shop", "ci")
	must(err)
	// An app whose creator's key is gone.
	_, err = st.CreateApp("wiki", "bob")
	must(err)
}
