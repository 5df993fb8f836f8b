package main
import (
 _ "github.com/hashicorp/raft"
 _ "github.com/hashicorp/raft-boltdb/v2"
 _ "github.com/labstack/echo/v4"
 _ "github.com/hashicorp/vault/api"
 _ "github.com/hashicorp/hcl"
 _ "github.com/spf13/cobra"
 _ "github.com/google/uuid"
 _ "golang.org/x/crypto/bcrypt"
 _ "golang.org/x/term"
 _ "golang.org/x/net/http2"
)
func main(){}
