package hw

import (
	"errors"
	"io/fs"
	"path"
	"strconv"
)

// piThrottled are where Raspberry Pi kernels expose the firmware's
// throttled state (Pi 4: soc/soc:firmware; Pi 5: soc@.../...:firmware).
var piThrottled = []string{
	"/sys/devices/platform/soc/soc:firmware/get_throttled",
	"/sys/devices/platform/soc*/*firmware/get_throttled",
	"/sys/devices/platform/*firmware*/get_throttled",
}

func probeThermal(f rootFS, o Options) (func(*Report), error) {
	var t Thermal
	for _, dir := range f.glob("/sys/class/thermal/thermal_zone*") {
		v, err := f.readString(dir + "/temp")
		if err != nil {
			continue
		}
		milli, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		typ, _ := f.readString(dir + "/type")
		z := Zone{Name: path.Base(dir), Type: typ, TempC: float64(milli) / 1000}
		t.Zones = append(t.Zones, z)
		if z.TempC > t.MaxTempC {
			t.MaxTempC = z.TempC
		}
	}

	const freq = "/sys/devices/system/cpu/cpu0/cpufreq/"
	num := func(name string) int64 {
		s, err := f.readString(freq + name)
		if err != nil {
			return 0
		}
		v, _ := strconv.ParseInt(s, 10, 64)
		return v
	}
	if cf := (CPUFreq{CurKHz: num("scaling_cur_freq"), MaxKHz: num("cpuinfo_max_freq"), ScalingMaxKHz: num("scaling_max_freq")}); cf != (CPUFreq{}) {
		cf.Governor, _ = f.readString(freq + "scaling_governor")
		t.CPUFreq = &cf
		if cf.MaxKHz > 0 && cf.ScalingMaxKHz > 0 && cf.ScalingMaxKHz < cf.MaxKHz {
			t.Throttling = true
		}
	}

	var problem error
	seen := map[string]bool{}
	for _, pattern := range piThrottled {
		for _, p := range f.glob(pattern) {
			if seen[p] {
				continue
			}
			seen[p] = true
			s, err := f.readString(p)
			if err != nil {
				if !errors.Is(err, fs.ErrPermission) {
					problem = err
				}
				continue
			}
			th, err := decodeThrottled(s)
			if err != nil {
				problem = err
				continue
			}
			t.PiState = &th
			if th.FreqCapped || th.Throttled || th.SoftTempLimit {
				t.Throttling = true
			}
		}
		if t.PiState != nil {
			break
		}
	}
	return func(r *Report) { r.Thermal = t }, problem
}

// decodeThrottled decodes the hex bit field the Raspberry Pi firmware
// reports (as vcgencmd get_throttled does).
func decodeThrottled(s string) (Throttled, error) {
	v, err := strconv.ParseUint(trimHex(s), 16, 32)
	if err != nil {
		return Throttled{}, errors.New("get_throttled: not a hex number: " + strconv.Quote(s))
	}
	bit := func(n uint) bool { return v&(1<<n) != 0 }
	return Throttled{
		Raw:                   "0x" + strconv.FormatUint(v, 16),
		UnderVoltage:          bit(0),
		FreqCapped:            bit(1),
		Throttled:             bit(2),
		SoftTempLimit:         bit(3),
		UnderVoltageOccurred:  bit(16),
		FreqCappedOccurred:    bit(17),
		ThrottledOccurred:     bit(18),
		SoftTempLimitOccurred: bit(19),
	}, nil
}

func trimHex(s string) string {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return s[2:]
	}
	return s
}
