module github.com/ferrycd/ferry/services/apply

go 1.26.0

require github.com/ferrycd/ferry/pkg v0.0.0
require github.com/ferrycd/ferry/proto v0.0.0

replace github.com/ferrycd/ferry/pkg => ../../pkg
replace github.com/ferrycd/ferry/proto => ../../proto
