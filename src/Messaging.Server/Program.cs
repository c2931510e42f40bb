using Messaging.Server.Hosting;

var (command, configurationArgs) = HostCommand.Parse(args);
var builder = WebApplication.CreateBuilder(configurationArgs);
builder.ReadSettingsFromAppFolder();

// The composition root is the only place that knows the system clock.
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddMessagingServer();
if (command is not null)
{
    // Host commands print to stdout for the human (in a container, that stdout is also the container's log): keep the
    // log quiet so secrets stand alone and nothing else mixes in. Not SetMinimumLevel: a configured rule such as
    // Logging:LogLevel:Default would win over it. Dropping every rule after configuration's leaves Warning for all.
    builder.Services.Configure<LoggerFilterOptions>(filters =>
    {
        filters.Rules.Clear();
        filters.MinLevel = LogLevel.Warning;
    });
}

var app = builder.Build();
app.UseMessagingServer();

if (command is not null)
{
    return await command.RunAsync(app.Services, Console.Out);
}

await app.RunAsync();
return 0;

/// <summary>The entry point, public for WebApplicationFactory.</summary>
public partial class Program;
