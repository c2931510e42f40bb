using System.Text;
using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Messaging.Server.Features.Reports;

/// <summary>The committee report's registration and HTTP surface (protocol section 8): JSON or CSV, operator only.</summary>
internal static class ReportsFeature
{
    public static IServiceCollection AddReports(this IServiceCollection services)
    {
        services.AddOptions<ReportsOptions>().BindConfiguration(ReportsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ReportService>();
        return services;
    }

    public static IEndpointRouteBuilder MapReports(this IEndpointRouteBuilder endpoints)
    {
        var report = endpoints.MapGroup(ApiRoutes.ReferralReport).RequireAuthorization();
        report.MapGet("", GetReferralReportAsync).WithName("ReferralReport");
        return endpoints;
    }

    private static async Task<Results<Ok<ReferralReport>, ContentHttpResult>> GetReferralReportAsync(
        int? year, string? granularity, string? format, CallerDevice caller, ReportService service, CancellationToken cancellationToken)
    {
        if (format is not (null or "json" or "csv"))
        {
            throw new MalformedRequestException("The format is json or csv.");
        }

        var report = await service.BuildAsync(caller, year ?? 0, granularity, cancellationToken);
        return format == "csv"
            ? TypedResults.Text(ReportService.ToCsv(report), "text/csv; charset=utf-8; header=present", Encoding.UTF8)
            : TypedResults.Ok(report);
    }
}
