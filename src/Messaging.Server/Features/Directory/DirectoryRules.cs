using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Directory;

/// <summary>Shape rules for directory input.</summary>
internal static class DirectoryRules
{
    public const int MaxCommunesPerRequest = 600;

    /// <summary>A NIS code is five ASCII digits.</summary>
    public static string RequireNisCode(string? code)
    {
        var trimmed = code?.Trim();
        if (trimmed is not { Length: 5 } || !trimmed.All(char.IsAsciiDigit))
        {
            throw new MalformedRequestException("A commune is named by its five-digit NIS code.");
        }

        return trimmed;
    }

    /// <summary>A regional service has a region; others have none.</summary>
    public static void RequireLevelAndRegion(string? level, string? region)
    {
        if (!ServiceLevels.IsKnown(level))
        {
            throw new MalformedRequestException("Unknown service level.");
        }

        if (level == ServiceLevels.Regional ? !Regions.IsKnown(region) : region is not null)
        {
            throw new MalformedRequestException("A regional service names its region (brussels or wallonia); other levels name none.");
        }
    }

    public static async Task<List<string>> RequireKnownCommunesAsync(DbSession session, IReadOnlyList<string>? codes)
    {
        if (codes is null || codes.Count > MaxCommunesPerRequest)
        {
            throw new MalformedRequestException($"At most {MaxCommunesPerRequest} communes.");
        }

        var result = new List<string>();
        foreach (var code in codes.Select(RequireNisCode).Distinct(StringComparer.Ordinal))
        {
            _ = await DirectoryRepository.GetCommuneAsync(session, code)
                ?? throw new NotFoundException(ErrorCodes.CommuneNotFound, $"No commune {code} in the directory.");
            result.Add(code);
        }

        return result;
    }
}
