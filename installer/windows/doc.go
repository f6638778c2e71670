// Package windows holds the Windows build's test harness and packaging
// sources: the tests cross-compile tte-agent with mingw and run it under
// wine64 (and the native PIN dialog under wine and Xvfb, driven by
// xdotool); tte-agent.wxs is the MSI that `make msi` builds with wixl;
// bcryptprimitives.c stands in, in the test prefix only, for a DLL that
// wine 8 lacks and Go's runtime loads.
package windows
