package secretsenv_test

import (
	"context"
	"fmt"
	"log"

	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

func ExampleLoader_Load() {
	sm := secretsenvtest.NewSecretsManager() // in production: secretsmanager.NewFromConfig(cfg)
	sm.PutString("prod/db", `{"host": "db.internal", "port": 5432, "password": "p$(w)'d\n"}`)
	sm.PutString("prod/tls-key", "-----BEGIN PRIVATE KEY-----\n...\n")

	loader, err := secretsenv.New(sm, func(o *secretsenv.Options) {
		o.Prefix = "DB_"
		o.Normalize = true
		o.Environ = []string{"PATH=/usr/bin"}
	})
	if err != nil {
		log.Fatal(err) // options that can't work; New makes no call
	}
	vars, err := loader.Load(context.Background(), []secretsenv.Secret{{ID: "prod/db"}, {ID: "prod/tls-key", Var: "TLS_KEY"}})
	if err != nil {
		log.Fatal(err)
	}
	out, err := secretsenv.Format(vars, secretsenv.FormatShell)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output:
	// export DB_HOST='db.internal'
	// export DB_PASSWORD='p$(w)'\''d
	// '
	// export DB_PORT='5432'
	// export TLS_KEY='-----BEGIN PRIVATE KEY-----
	// ...
	// '
}

func ExampleLoader_Load_reservedName() {
	sm := secretsenvtest.NewSecretsManager()
	sm.PutString("evil", `{"LD_PRELOAD": "/tmp/x.so"}`)
	loader, err := secretsenv.New(sm)
	if err != nil {
		log.Fatal(err)
	}
	_, err = loader.Load(context.Background(), []secretsenv.Secret{{ID: "evil"}})
	fmt.Println(err)
	// Output:
	// secretsenv: reserved variable name: LD_PRELOAD (from evil key "LD_PRELOAD") can't be set from a secret: names starting with LD_ belong to the runtime or to secretsenv itself
}
