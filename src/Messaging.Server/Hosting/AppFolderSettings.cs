using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;

namespace Messaging.Server.Hosting;

/// <summary>
/// The host reads <c>appsettings.json</c> and <c>appsettings.{Environment}.json</c> from its content root, which is the
/// current directory: a server started from elsewhere silently ran without them — without the logging guards that keep
/// bearer tokens out of request logs (issue 11, item 7). They belong to the application, so they are read from its own
/// folder (<see cref="AppContext.BaseDirectory"/>), in the same place among the configuration sources (environment
/// variables and the command line still override them).
/// </summary>
internal static class AppFolderSettings
{
    public static WebApplicationBuilder ReadSettingsFromAppFolder(this WebApplicationBuilder builder)
    {
        var names = new[] { "appsettings.json", $"appsettings.{builder.Environment.EnvironmentName}.json" };
        var sources = ((IConfigurationBuilder)builder.Configuration).Sources;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is JsonConfigurationSource { Path: { } path } json && names.Contains(path, StringComparer.OrdinalIgnoreCase))
            {
                sources[i] = new JsonConfigurationSource
                {
                    Path = path,
                    Optional = json.Optional,
                    ReloadOnChange = false,
                    FileProvider = new PhysicalFileProvider(AppContext.BaseDirectory),
                };
            }
        }

        return builder;
    }
}
