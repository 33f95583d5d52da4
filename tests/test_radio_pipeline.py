"""One DSA-110 observation group end to end: 16 subbands -> queue -> calibration ->
images -> forced photometry -> variability -> ESE candidate -> alert -> light curve."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa

from lightcurvedb.radio import AlertHistory, ESECandidate, IngestGroup, VariabilityStats, queue
from lightcurvedb.radio import calibration_registry as cal
from lightcurvedb.radio import products_service as products
from lightcurvedb.radio.targets import materialise_lightcurve
from lightcurvedb.radio.variability import flag_ese_candidates, record_alert, update_variability
from lightcurvedb.testing.fits.radio import write_radio_image

GROUP = "2025-10-24T12:00:00"
STEADY, SCINTILLATING = "NVSS J123456.7+420312", "NVSS J123501.2+415907"
# Six daily epochs; the second source brightens by 60 % and fades back (an ESE-like
# excursion), the first stays at 100 mJy within its 2 mJy errors.
STEADY_JY = [0.100, 0.101, 0.099, 0.100, 0.102, 0.100]
SCINTILLATING_JY = [0.100, 0.118, 0.160, 0.141, 0.112, 0.101]


def test_one_group_from_subbands_to_an_alert(session, tmp_path):
    # 1. The 16 subband files arrive; the group becomes pending with the last one.
    states = [queue.register_subband(session, GROUP, idx,
                                     f"/data/incoming/{GROUP}_sb{idx:02d}.hdf5").state
              for idx in range(16)]
    assert states == ["collecting"] * 15 + ["pending"]
    claimed = queue.claim_next(session)
    assert claimed is not None and claimed.group_id == GROUP
    assert queue.claim_next(session) is None  # nothing else pending

    # 2. Calibration valid for the observation, applied K, BP, G.
    cal.register_calibration_set(session, "bp_3c286_60972",
                                 {"G": "/cal/g", "K": "/cal/k", "BP": "/cal/bp"},
                                 valid_start_mjd=60972.0, valid_end_mjd=60979.0)
    assert [t.table_type for t in cal.active_caltables(session, 60972.5)] == ["K", "BP", "G"]

    # 3. Each epoch: an MS is imaged, the image registered from its FITS header,
    #    and both sources measured.
    for epoch, (steady, scint) in enumerate(zip(STEADY_JY, SCINTILLATING_JY, strict=True)):
        ms = f"/data/ms/2025-10-{24 + epoch}T12:00:00.ms"
        products.record_ms_stage(session, ms, "imaged", start_mjd=60972.49 + epoch,
                                 end_mjd=60972.51 + epoch, cal_applied=True)
        fits_path = write_radio_image(tmp_path / f"epoch{epoch}-image.fits", ra=188.73,
                                      dec=42.05, bmaj_deg=15 / 3600, bmin_deg=10 / 3600,
                                      bpa_deg=30.0, noise_jy=0.0005, nx=64, ny=64,
                                      seed=epoch)
        image = products.register_image(session, fits_path, ms_path=ms)
        assert image.beam_major_arcsec == 15.0
        products.record_photometry(session, [
            {"image_path": image.path, "source_id": source, "ra_deg": ra, "dec_deg": dec,
             "nvss_flux_mjy": 100.0, "peak_jyb": flux, "peak_err_jyb": 0.002,
             "mjd": 60972.5 + epoch}
            for source, ra, dec, flux in ((STEADY, 188.7363, 42.0533, steady),
                                          (SCINTILLATING, 188.7550, 41.9853, scint))])
    queue.complete_group(session, GROUP)
    assert session.get(IngestGroup, GROUP).state == "completed"

    # 4. Variability: chi2_nu against the error-weighted (here plain) mean.
    assert update_variability(session) == 2
    stats = {s.source_id: s for s in session.scalars(sa.select(VariabilityStats))}
    flux = np.array(SCINTILLATING_JY) * 1000
    expected_chi2 = np.sum(((flux - flux.mean()) / 2.0) ** 2) / (len(flux) - 1)
    assert abs(stats[SCINTILLATING].chi2_nu - expected_chi2) < 1e-6
    assert stats[STEADY].chi2_nu < 1.0
    assert stats[SCINTILLATING].n_obs == 6

    # 5. One ESE candidate, for the scintillating source only, never duplicated.
    flagged = flag_ese_candidates(session, chi2_threshold=8.0)
    assert [c.source_id for c in flagged] == [SCINTILLATING]
    assert flag_ese_candidates(session, chi2_threshold=8.0) == []
    record_alert(session, SCINTILLATING, f"ESE candidate {SCINTILLATING}",
                 channel="#ese-alerts")
    assert session.scalar(sa.select(sa.func.count()).select_from(ESECandidate)) == 1
    alert = session.scalars(sa.select(AlertHistory)).one()
    assert (alert.alert_type, alert.channel, alert.success) == ("ese_candidate",
                                                                "#ese-alerts", True)

    # 6. The source's photometry as a core light curve, like a TESS one.
    lightcurve = materialise_lightcurve(session, SCINTILLATING)
    np.testing.assert_allclose(lightcurve.values, flux)
    assert lightcurve.unit == "mJy / beam"
    assert lightcurve.target.designation == SCINTILLATING
