package i18n

// Args turns key, value, key, value... into the placeholder map T takes;
// none gives nil. A trailing key without a value is dropped. The documents
// written away from the server (certificates, receipts, donor reports)
// name their placeholders this way.
func Args(kv ...string) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	args := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		args[kv[i]] = kv[i+1]
	}
	return args
}
