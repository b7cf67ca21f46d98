package bitrixtest

func init() {
	methods["tasks.task.files.attach"] = taskFilesAttach
}

// taskFilesAttach attaches one Drive object to a task (docs/bitrix24.md
// §2.5): {"taskId", "fileId"} → {"attachmentId"}. The caller needs the
// task to exist and the file to be readable. Attaching the same file
// twice attaches it twice, as the portal does.
func taskFilesAttach(c *call) (any, *apiError) {
	id, err := taskIDParam(c)
	if err != nil {
		return nil, err
	}
	v, ok := c.params.getFold("fileId")
	if !ok {
		return nil, missing("fileId")
	}
	fid, ok := toInt(v)
	if !ok || c.p.files[fid] == nil {
		return nil, errCore("File not found or not accessible: " + strconvI(fid))
	}
	t, ok := c.p.tasks[id]
	if !ok {
		return nil, &apiError{400, "0", "Action on the task is not allowed (internal error)"}
	}
	t.Files = append(t.Files, fid)
	return map[string]any{"attachmentId": c.p.next("attachment")}, nil
}
