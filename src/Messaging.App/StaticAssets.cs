namespace Messaging.App;

/// <summary>The app's script and style sheet, embedded in the executable (one file per OS, nothing beside it) and
/// served by the app itself: no CDN, no third-party asset.</summary>
internal static class StaticAssets
{
    private static readonly (string Path, string Resource, string ContentType)[] Files =
    [
        ("/app.js", "Messaging.App.wwwroot.app.js", "text/javascript; charset=utf-8"),
        ("/app.css", "Messaging.App.wwwroot.app.css", "text/css; charset=utf-8"),
    ];

    public static void MapStaticAssets(this WebApplication app)
    {
        foreach (var (path, resource, contentType) in Files)
        {
            using var stream = typeof(StaticAssets).Assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException($"The asset {resource} is not embedded.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            app.MapGet(path, () => Results.Bytes(bytes, contentType));
        }
    }
}
