package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
)

// assetFS holds app.js, app.css and, once scripts/assets.sh has copied it from
// npm, vendor/echarts.min.js. The vendor directory is not committed.
//
//go:embed assets
var assetFS embed.FS

// chartLibraryPath is the ECharts bundle's path inside assetFS.
const chartLibraryPath = "assets/vendor/echarts.min.js"

// chartLibraryMissing is shown in place of every chart when the binary was
// built without the ECharts bundle.
const chartLibraryMissing = "chart library not bundled: run scripts/assets.sh and rebuild"

func chartLibraryBundled() bool {
	_, err := fs.Stat(assetFS, chartLibraryPath)
	return err == nil
}

// assetHandler serves assetFS under /assets/.
func assetHandler() http.Handler {
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err) // fs.Sub fails only for an invalid name, and "assets" is valid
	}
	return http.StripPrefix("/assets/", http.FileServerFS(sub))
}

// assetETags returns an entity tag for every embedded file, keyed by its path
// under assets/. Embedded files have no modification time, so the tags are
// what lets browsers revalidate a file instead of downloading it again.
func assetETags() map[string]string {
	tags := map[string]string{}
	_ = fs.WalkDir(assetFS, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assetFS.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		tags[path[len("assets/"):]] = `"` + hex.EncodeToString(sum[:16]) + `"`
		return nil
	})
	return tags
}

func (s *Server) registerAssetRoutes() {
	s.register("GET /assets/", AccessPublic, s.handle(s.handleAsset))
}

// handleAsset serves one embedded file with its entity tag. Browsers must
// revalidate before reuse, so a rebuilt binary's assets are picked up at once.
// Directories are not listed.
func (s *Server) handleAsset(w http.ResponseWriter, r *http.Request) error {
	name := r.URL.Path[len("/assets/"):]
	tag, ok := s.assetTags[name]
	if !ok {
		return notFoundPath(r)
	}

	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", tag)
	s.assets.ServeHTTP(w, r)
	return nil
}
