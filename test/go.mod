module github.com/ferrycd/ferry/test

go 1.26.0

require github.com/ferrycd/ferry/pkg v0.0.0
require github.com/ferrycd/ferry/proto v0.0.0
require github.com/ferrycd/ferry/services/ingest v0.0.0
require github.com/ferrycd/ferry/services/render v0.0.0
require github.com/ferrycd/ferry/services/apply v0.0.0
require github.com/ferrycd/ferry/services/drift v0.0.0
require github.com/ferrycd/ferry/services/ferry v0.0.0

replace github.com/ferrycd/ferry/pkg => ../pkg
replace github.com/ferrycd/ferry/proto => ../proto
replace github.com/ferrycd/ferry/services/ingest => ../services/ingest
replace github.com/ferrycd/ferry/services/render => ../services/render
replace github.com/ferrycd/ferry/services/apply => ../services/apply
replace github.com/ferrycd/ferry/services/drift => ../services/drift
replace github.com/ferrycd/ferry/services/ferry => ../services/ferry
