// An "Upload…" button that reads one chosen text file (YAML or JSON) and hands its text on.
export function UploadText({ onText }: { onText: (text: string) => void }) {
  return (
    <label className="upload">
      Upload…
      <input
        type="file"
        accept=".yaml,.yml,.json"
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (f) void f.text().then(onText);
        }}
      />
    </label>
  );
}
