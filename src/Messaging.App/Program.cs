using System.Diagnostics;
using Messaging.App;
using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.App.Pages;
using Messaging.App.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc;

var options = AppOptions.Parse(args, Environment.GetEnvironmentVariable, out var problem);
if (options is null)
{
    await Console.Error.WriteLineAsync($"error: {problem}\n{AppOptions.Usage}");
    return 2;
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Listen(System.Net.IPAddress.Loopback, options.Port);
});
// The framework's request logs would carry paths; pages never put a name in a path, but the app's own lines are enough.
builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true)
    .SetMinimumLevel(LogLevel.Warning).AddFilter("Messaging.App", LogLevel.Information);

builder.Services.AddSingleton(options);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<LocalAccess>();
builder.Services.AddSingleton<DeviceSession>();
builder.Services.AddHttpContextAccessor();
builder.Services.AddScoped<Texts>();
// Anti-forgery tokens and TempData are protected by keys that live as long as this launch, in memory only.
builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
builder.Services.AddAntiforgery(o =>
{
    o.Cookie.Name = "messaging-app-antiforgery";
    o.Cookie.SameSite = SameSiteMode.Strict;
    o.Cookie.HttpOnly = true;
    o.Cookie.SecurePolicy = CookieSecurePolicy.None;
    o.SuppressXFrameOptionsHeader = true; // SecurityHeaders sends DENY
});
builder.Services.Configure<CookieTempDataProviderOptions>(o =>
{
    o.Cookie.Name = "messaging-app-notice";
    o.Cookie.SameSite = SameSiteMode.Strict;
    o.Cookie.HttpOnly = true;
    o.Cookie.SecurePolicy = CookieSecurePolicy.None;
});
// Accented letters as they are (the pages are UTF-8), rather than as numeric entities.
builder.Services.Configure<Microsoft.Extensions.WebEncoders.WebEncoderOptions>(o => o.TextEncoderSettings = new System.Text.Encodings.Web.TextEncoderSettings(System.Text.Unicode.UnicodeRanges.All));
builder.Services.AddRazorPages().AddMvcOptions(o => o.Filters.Add<DeviceStateFilter>());

await using var app = builder.Build();
var access = app.Services.GetRequiredService<LocalAccess>();
app.Use(SecurityHeaders.InvokeAsync);
app.Use(access.InvokeAsync);
app.UseExceptionHandler("/error");
app.UseStatusCodePages();
app.MapStaticAssets();
app.MapRazorPages();

await app.StartAsync();
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
access.Port = new Uri(address).Port;
// The link carries this launch's secret: printed for the worker (who may open it by hand), never logged.
await Console.Out.WriteLineAsync($"Messaging app: {access.LaunchUrl}");
await Console.Out.FlushAsync();
// The browser gets a local page that posts the secret (LaunchPage): never the link itself, which would be in the
// launcher's arguments for any local user to read. The page goes once the secret was used, or when the app stops.
LaunchPage? launchPage = null;
if (options.OpenBrowser)
{
    try
    {
        var written = LaunchPage.Write(LaunchPage.FolderFor(options.StorePath, Environment.GetEnvironmentVariable), access.LaunchEndpoint, access.LaunchKey);
        launchPage = written;
        _ = access.Launched.ContinueWith(_ => written.Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        Process.Start(written.StartInfo())?.Dispose();
    }
    catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException or UnauthorizedAccessException)
    {
        launchPage?.Dispose();
        await Console.Out.WriteLineAsync("No browser could be opened: open the link above yourself.");
    }
}

await app.WaitForShutdownAsync();
launchPage?.Dispose();
return 0;
