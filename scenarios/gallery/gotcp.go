// gotcp: a Go client for the gallery (Debian golang-go 1.19, standard library only, built by
// the scenario's command with GO111MODULE=off).
//
//	gotcp probe HOST:PORT COUNT LINGER   COUNT request/response/close exchanges; LINGER "default"
//	                                     (close() sends a FIN: TIME_WAIT here) or "0" (SetLinger(0):
//	                                     a RST, no TIME_WAIT: the EaseProbe fix)
//	gotcp idle HOST:PORT KEEPALIVE       one exchange, then wait on Read forever; KEEPALIVE
//	                                     "default" (net.Dialer's 15 s: TCP_KEEPIDLE = TCP_KEEPINTVL
//	                                     = 15, TCP_KEEPCNT from the host's sysctl) or a duration
//
// Exit status: 0 done, 3 Read failed with ETIMEDOUT (keepalive gave up), 4 EOF, 5 any other error.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

const request = "GET / HTTP/1.1\r\nHost: server\r\n\r\n"

func exchange(c net.Conn) error {
	if _, err := c.Write([]byte(request)); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	_, err := c.Read(buf)
	return err
}

func fail(code int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}

func main() {
	if len(os.Args) != 4 && len(os.Args) != 5 {
		fail(2, "usage: gotcp probe HOST:PORT COUNT LINGER | gotcp idle HOST:PORT KEEPALIVE")
	}
	addr := os.Args[2]
	switch os.Args[1] {
	case "probe":
		count, err := strconv.Atoi(os.Args[3])
		if err != nil || count < 1 || count > 100000 {
			fail(2, "COUNT: expected 1..100000")
		}
		for i := 0; i < count; i++ {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				fail(5, "dial %d: %v", i, err)
			}
			if err := exchange(c); err != nil {
				fail(5, "exchange %d: %v", i, err)
			}
			if os.Args[4] == "0" {
				c.(*net.TCPConn).SetLinger(0)
			}
			c.Close()
		}
		fmt.Printf("%d exchanges, linger %s\n", count, os.Args[4])
	case "idle":
		d := net.Dialer{}
		if os.Args[3] != "default" {
			ka, err := time.ParseDuration(os.Args[3])
			if err != nil {
				fail(2, "KEEPALIVE: %v", err)
			}
			d.KeepAlive = ka
		}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			fail(5, "dial: %v", err)
		}
		if err := exchange(c); err != nil {
			fail(5, "exchange: %v", err)
		}
		last := time.Now()
		fmt.Println("connected, idle")
		_, err = c.Read(make([]byte, 4096))
		idle := time.Since(last)
		switch {
		case errors.Is(err, syscall.ETIMEDOUT):
			fail(3, "read: %v after %.1f s idle", err, idle.Seconds())
		case errors.Is(err, io.EOF):
			fail(4, "read: EOF after %.1f s idle", idle.Seconds())
		default:
			fail(5, "read: %v after %.1f s idle", err, idle.Seconds())
		}
	default:
		fail(2, "unknown mode %q", os.Args[1])
	}
}
