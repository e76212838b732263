using Microsoft.Extensions.FileProviders;

namespace LiveNews.Server.Operations;

/// <summary>
/// Serves the browser client at <c>/livenews.js</c>, and, in Development (or wherever <c>Samples:Path</c>
/// is set), the sample reader page at <c>/</c> and the editor console at <c>/editor.html</c>.
/// </summary>
internal static class SamplePages
{
    public static WebApplication UseBrowserClientAndSamples(this WebApplication app)
    {
        app.UseStaticFiles();

        var path = app.Configuration["Samples:Path"];
        if (string.IsNullOrWhiteSpace(path) && app.Environment.IsDevelopment())
        {
            path = Path.Combine(app.Environment.ContentRootPath, "..", "..", "samples", "web");
        }

        if (!string.IsNullOrWhiteSpace(path) && Directory.Exists(path))
        {
            app.UseFileServer(new FileServerOptions { FileProvider = new PhysicalFileProvider(Path.GetFullPath(path)) });
        }

        return app;
    }
}
