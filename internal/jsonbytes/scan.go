// Package jsonbytes holds the byte-level JSON walking that the fetchers'
// readers and filters and the store's canonical form share: skipping white
// space, strings and whole values of JSON already known to be valid, or
// saying where it stops being so, without decoding anything.
package jsonbytes

// Space returns the index of the first byte at or after i that is not
// JSON white space.
func Space(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// StringEnd returns the index after the string that starts at b[i] (-1
// when it does not end), whether it has escapes, and whether it has bytes
// outside ASCII.
func StringEnd(b []byte, i int) (end int, escaped, wide bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, wide
		case c == '\\':
			escaped = true
			i++
		case c >= 0x80:
			wide = true
		}
	}
	return -1, escaped, wide
}

// ValueEnd returns the index after the value that starts at b[i], -1 when
// it does not end.
func ValueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _, _ := StringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end, _, _ := StringEnd(b, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for ; i < len(b); i++ { // a number or a literal
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}
