package bitrixtest

import (
	"encoding/base64"
	"path"
	"strings"
)

func init() {
	methods["disk.folder.uploadfile"] = diskUpload
}

// diskUpload is disk.folder.uploadfile with inline base64 content (§5).
// The two-step uploadUrl flow for big files is not faked.
func diskUpload(c *call) (any, *apiError) {
	v, ok := c.params.getFold("id")
	folder, _ := toInt(v)
	if !ok || !c.p.folderOK(folder) {
		s, _ := toString(v)
		return nil, &apiError{400, "ERROR_NOT_FOUND", "Could not find entity with id `" + s + "`"}
	}
	dv, _ := c.params.getFold("data")
	data, _ := dv.(*omap)
	nv, _ := data.get("NAME")
	name, _ := toString(nv)
	fcv, hasContent := c.params.getFold("fileContent")
	fc, _ := fcv.(*omap)
	if !hasContent || fc == nil || len(fc.keys) < 2 {
		return nil, &apiError{400, "ERROR_ARGUMENT", "fileContent must be [name, base64] (the uploadUrl flow is not faked)"}
	}
	vals := fc.values()
	if name == "" {
		name, _ = toString(vals[0])
	}
	if strings.TrimSpace(name) == "" {
		return nil, &apiError{400, "DISK_BASE_SERVICE_22001", "Name is required"}
	}
	if e, ok := c.p.refuseUpload[strings.ToLower(name)]; ok {
		return nil, &e
	}
	b64, _ := toString(vals[1])
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, &apiError{400, "ERROR_COULD_NOT_SAVE_FILE", "Could not save file"}
	}
	unique := false
	if uv, ok := c.params.getFold("generateUniqueName"); ok {
		s, _ := toString(uv)
		unique = s == "1" || strings.EqualFold(s, "true") || strings.EqualFold(s, "Y")
	}
	if c.p.nameTaken(folder, name) {
		if !unique {
			return nil, &apiError{400, "DISK_OBJ_22000", "Object with the same name already exists"} // code invented
		}
		ext := path.Ext(name)
		base := strings.TrimSuffix(name, ext)
		for i := 1; c.p.nameTaken(folder, name); i++ {
			name = base + " (" + strconvI(int64(i)) + ")" + ext
		}
	}
	id := c.p.storeFile(folder, name, raw, c.p.userID)
	return map[string]any{"ID": id, "NAME": name, "CODE": nil, "STORAGE_ID": "1", "TYPE": "file",
		"PARENT_ID": strconvI(folder), "DELETED_TYPE": 0, "GLOBAL_CONTENT_VERSION": 1, "FILE_ID": id + 20000,
		"SIZE": strconvI(int64(len(raw))), "CREATE_TIME": c.p.now().Format(isoTime),
		"CREATED_BY": strconvI(c.p.userID), "DOWNLOAD_URL": c.p.diskURL(id),
		"DETAIL_URL": c.p.srv.URL + "/docs/file/" + name}, nil
}

func (p *Portal) nameTaken(folder int64, name string) bool {
	for _, f := range p.files {
		if f.FolderID == folder && strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}
