using System.Net;
using Hangfire.Common;
using Microsoft.Extensions.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Messaging.Server.Features.Telemetry;

/// <summary>
/// Metrics: the instruments (<see cref="MessagingMetrics"/>) always; when <see cref="TelemetryOptions.MetricsEnabled"/>,
/// OpenTelemetry reads them and serves the Prometheus text at <see cref="TelemetryOptions.MetricsPath"/> to the
/// management port or to loopback only (<see cref="MayScrape"/>). Only this host's meter is exported: it is enabled for
/// the host's own meter factory (<see cref="MeterScope.Local"/>), not by name across the process.
/// </summary>
internal static class TelemetryFeature
{
    public static IServiceCollection AddTelemetry(this IServiceCollection services)
    {
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddMetrics();
        services.AddSingleton<QueueDepth>();
        services.AddSingleton<MessagingMetrics>();
        services.AddSingleton<JobLagFilter>();
        // Last registration wins over Hangfire's TryAdd of the process-wide provider; its client and worker both resolve it.
        services.AddSingleton<IJobFilterProvider, HostJobFilterProvider>();

        // The meter is enabled for listeners only when metrics are served; OpenTelemetry listens through the host's
        // metrics subscriptions (no AddMeter by name, which would also pick up other hosts' meters in the same process).
        services.AddOptions<MetricsOptions>().Configure<IOptions<TelemetryOptions>>((metrics, telemetry) =>
        {
            if (telemetry.Value.MetricsEnabled)
            {
                metrics.Rules.Add(new InstrumentRule(MessagingMetrics.MeterName, null, null, MeterScope.Local, enable: true));
            }
        });
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddPrometheusExporter(prometheus =>
        {
            // Each scrape reads the instruments afresh; the target_info series (process and host attributes) is left out.
            prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
            prometheus.TargetInfoEnabled = false;
        }));
        return services;
    }

    public static IApplicationBuilder UseTelemetry(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<IOptions<TelemetryOptions>>().Value;
        if (!options.MetricsEnabled)
        {
            return app;
        }

        var queueDepth = app.ApplicationServices.GetRequiredService<QueueDepth>();
        return app.UseOpenTelemetryPrometheusScrapingEndpoint(
            meterProvider: null,
            predicate: context => context.Request.Path == options.MetricsPath && MayScrape(context, options),
            path: null,
            configureBranchedPipeline: branch => branch.Use(async (context, next) =>
            {
                await queueDepth.RefreshIfStaleAsync(context.RequestAborted);
                await next(context);
            }),
            optionsName: null);
    }

    /// <summary>The management port when one is configured; otherwise a loopback client that no proxy speaks for.</summary>
    internal static bool MayScrape(HttpContext context, TelemetryOptions options)
    {
        if (options.ManagementPort is { } port)
        {
            return context.Connection.LocalPort == port;
        }

        return context.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote)
            && !context.Request.Headers.ContainsKey("Forwarded") && !context.Request.Headers.ContainsKey("X-Forwarded-For");
    }
}
