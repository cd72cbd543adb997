package main

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/google/uuid"
)

func main() {
	boot := uuid.NewString()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "go says hi from %s (boot %.8s) %s\n", os.Getenv("DYNO"), boot, os.Getenv("PAAS_RELEASE"))
	})
	log.Printf("go listening on %s", os.Getenv("PORT"))
	log.Fatal(http.ListenAndServe(":"+os.Getenv("PORT"), nil))
}
