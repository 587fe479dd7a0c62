#!/bin/sh
echo "$GREETING, $TARGET! ($(cat /app/built.txt))"
